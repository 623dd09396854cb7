"""Kubernetes operator (kopf) driving the same planner and engine as the CLI."""

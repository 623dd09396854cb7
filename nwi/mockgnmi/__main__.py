"""``python -m nwi.mockgnmi``: the same command as ``nwi mock-gnmi``."""

from nwi.mockgnmi.cli import main

main()

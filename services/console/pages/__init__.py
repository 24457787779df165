"""The console's pages, one module per screen; common.py holds what every page uses."""

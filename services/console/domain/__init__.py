"""The console's view models: pure functions from the services' answers to what a page shows (no I/O)."""

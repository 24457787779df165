"""The `rcm` command: local stack, the demo of the whole cycle, tests, benchmark."""

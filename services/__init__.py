"""The five services of the revenue cycle, one per stage, each with its own database."""

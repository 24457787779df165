"""The README's performance table is what `./rcm bench readme` writes from the result it names."""

from rcmctl.bench import results


def test_the_readme_performance_table_is_the_run_it_names():
    text = results.README.read_text()
    assert results.update_readme(text) == text, "run ./rcm bench readme docs/bench/<run>.json"

from rcmctl.bench.payments import domain, eras


def test_the_benchmark_posts_every_claim_it_generates():
    texts, known, _ = eras(30)
    assert domain(texts, known) == 30

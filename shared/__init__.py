"""What every service uses the same way: settings, event contracts and envelope, outbox, inbox,
the consumer loop with retries and dead letters, database wiring, logging, metrics."""

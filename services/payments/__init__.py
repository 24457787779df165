"""Payments: posts 835 remittances to the claims they pay; publishes payment.posted."""

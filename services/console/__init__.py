"""The billing office console: a backend-for-frontend that signs people in with OpenID Connect and
renders the office's screens from the five services' APIs, called with the signed-in person's token."""

"""The web workspace's rules, pure: passwords, sign-in throttling, session expiry, accounts."""

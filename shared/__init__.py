"""Code shared by the three services: event contracts, infrastructure, delivery, auth, HTTP."""

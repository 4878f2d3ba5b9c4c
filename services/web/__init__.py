"""The web workspace: the one web address where people (trust business managers, suppliers,
schools, operators) sign in with named accounts and work through the other services' APIs."""

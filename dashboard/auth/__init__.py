"""Staff sign-in, sign-out, own password, and the access rules for every route."""

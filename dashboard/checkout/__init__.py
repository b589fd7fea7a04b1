"""Where customers land after a wallet page: the result URLs the back office gives providers."""

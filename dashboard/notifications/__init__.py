"""Provider notifications: the inbox of everything Antom and Worldpay sent us."""

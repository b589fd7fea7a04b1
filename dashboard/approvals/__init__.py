"""The maker-checker queue: requests that wait for a second person (DESIGN §9 "Approvals")."""

"""People: sign-in sessions, business-unit settings, the settings and Deliveries pages."""

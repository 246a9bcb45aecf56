"""Platform routes: sign-in, users, versioned configuration, health."""

"""End-to-end tests of the collaborations and clean-room JSON API."""

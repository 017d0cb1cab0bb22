"""End-to-end tests of the campaign API and pages."""

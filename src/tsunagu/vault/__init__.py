"""The vault: personal records held on the person's behalf, encrypted per person."""

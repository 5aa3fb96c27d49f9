"""The `enitrunk-host` Lambda executor."""

"""Fixes to moto bugs on enitrunk's path."""

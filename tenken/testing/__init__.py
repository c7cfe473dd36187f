"""Test doubles that run real protocols locally, shared by unit and end-to-end tests."""

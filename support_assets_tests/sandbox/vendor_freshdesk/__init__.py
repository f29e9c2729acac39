"""The freshdesk emulator's tests, one module per part of the desk."""

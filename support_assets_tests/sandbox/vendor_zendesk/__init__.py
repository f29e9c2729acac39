"""The zendesk emulator's tests, one module per part of the desk."""

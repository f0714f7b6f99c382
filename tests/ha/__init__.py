"""Tests of Home Assistant's side of the integration."""

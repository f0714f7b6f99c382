"""Tests for the Enphase Envoy Legacy integration."""

"""Tests for the Envoy client (envoy_client/), which has no Home Assistant imports."""

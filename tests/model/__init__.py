"""Tests of the site's model, without Home Assistant."""

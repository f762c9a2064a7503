"""The app's blueprints, one module each."""

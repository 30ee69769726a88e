"""Command-line interface: one small module per command group; handlers parse, build a
typed config and call the library. No training or verification logic lives here."""

"""Discord extensions, one per feature area: slash commands, buttons and modals. Thin glue only."""

"""Domain results turned into what people read: plain text, Discord embeds and messages."""

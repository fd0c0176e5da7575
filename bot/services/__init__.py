"""Domain rules. No discord import here: services take ids and plain values and return results."""

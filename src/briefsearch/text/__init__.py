"""Korean text helpers shared by every stage: sentence splitting, mapped text, line cleaning, bullet glyphs."""

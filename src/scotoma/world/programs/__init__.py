"""Question programs of the shapes world, their exact oracle and their language: the typed AST
(`nodes`), its evaluation and validity criteria (`oracle`), skills, answers, and English both ways
(`language` renders, `parse` reads, over the shared `templates` and `statements`)."""

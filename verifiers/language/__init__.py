"""Language consistency (R1's SFT filter), by job:

- `scoring`: which language a run of prose is in (langdetect's profiles, scored exactly; the one module that
  imports langdetect), the language codes and the thresholds;
- `expectation`: which language a prompt expects (the problem first, instructions removed);
- `verifier`: `LanguageVerifier`, registered as `language`, with its reasons `language_mismatch` and
  `language_mixing`.
"""

from verifiers.language.scoring import known_languages, langdetect_whole_text, language_label, normalize_language
from verifiers.language.verifier import LanguageVerifier

__all__ = ["LanguageVerifier", "known_languages", "langdetect_whole_text", "language_label", "normalize_language"]

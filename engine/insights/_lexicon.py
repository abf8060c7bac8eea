"""The words the constructions read: closed classes, verbs that are no tasks, and the
markers that take a commitment back (negations, hypotheses, worries, the past, habits)."""

from __future__ import annotations

# Verbs whose future or "going to" is a prediction or a state, not a task.
NOT_TASKS = {
    "ser", "estar", "haber", "parecer", "poder", "saber", "querer", "gustar", "llover",
    "costar", "tardar", "ver", "quedar", "seguir", "necesitar", "tocar", "valer", "caber",
    "salir", "venir", "ir", "llegar", "crecer", "bajar", "pensar", "creer", "esperar",
    "encantar", "tener", "empezar", "comenzar", "acabar", "durar", "funcionar", "servir",
    "be", "see", "need", "think", "seem", "happen", "rain", "cost", "take", "get", "go",
    "come", "grow", "like", "love", "want", "hope", "know", "guess", "wonder", "understand",
    "admit", "say", "remember", "appreciate", "feel", "look", "keep", "start", "begin",
    "continue", "stay", "wait", "try", "probably", "just", "also", "still", "never", "not",
}  # fmt: skip
# Plans only with a time for them: "voy a empezar el lunes", not "vamos a empezar".
NEED_A_TIME = {"empezar", "comenzar", "start", "begin"}
# Said about the meeting itself, done as it is said: not an action item.
IN_THE_MEETING = {
    "compartir", "resumir", "repasar", "mostrar", "ensenar", "explicar", "presentarme",
    "share", "recap", "summarize", "summarise", "show", "walk", "move", "skip", "hand",
    "wrap", "kick", "jump", "pass", "stop", "mute", "unmute", "record", "introduce",
}  # fmt: skip
IN_THE_MEETING_WORDS = {"pantalla", "screen", "slide", "diapositiva", "agenda", "breve",
                        "brief", "ahora", "now"}  # fmt: skip
NEGATIONS = {"no", "not", "never", "nunca", "nadie", "nobody", "won't", "can't", "cannot",
             "don't", "doesn't", "wouldn't", "isn't", "aren't", "shouldn't", "ni",
             "tampoco", "nothing", "nada", "neither", "nor", "couldn't", "didn't"}  # fmt: skip
HYPOTHESES = {"ojala", "would", "maybe", "perhaps", "quiza", "quizas", "quizá", "quizás",
              "someday", "wish", "sería", "seria", "it'd", "we'd", "i'd", "hopefully",
              "ideally", "eventually", "might", "should", "deberiamos", "deberíamos",
              "convendria", "convendría", "habria", "habría", "supposedly"}  # fmt: skip
HYPOTHESIS_PAIRS = {("tal", "vez"), ("a", "lo"), ("algun", "dia"), ("one", "day"),
                    ("some", "day"), ("at", "some"), ("en", "algun")}  # fmt: skip
WORRIES = {"riesgo", "riesgos", "preocupa", "preocupado", "preocupada", "temo", "miedo",
           "risk", "risks", "worried", "worry", "worries", "concern", "concerned", "afraid",
           "ojo"}  # fmt: skip
PAST = {"ayer", "anteayer", "yesterday", "already", "pasada", "pasado", "ago", "hace"}
HABITS = {"normalmente", "usualmente", "siempre", "usually", "always", "generally",
          "typically", "normally", "suele", "solemos", "soléis", "suelen"}  # fmt: skip
NOT_NAMES = {
    "vale", "bueno", "bien", "pues", "entonces", "perfecto", "vamos", "ok", "okay", "si",
    "no", "gracias", "hola", "oye", "mira", "claro", "genial", "venga", "so", "well", "yes",
    "yeah", "right", "great", "thanks", "hi", "hello", "alright", "sure", "now", "then",
    "also", "and", "but", "please", "team", "everyone", "todos", "equipo", "chicos", "guys",
    "folks", "action", "accion", "tarea", "item", "nota", "note", "i", "yo", "we",
    "nosotros", "let's", "lets", "hey", "the", "this", "that", "it", "he", "she", "they",
    "you", "someone", "somebody", "everybody", "nobody", "el", "la", "los", "las", "esto",
    "eso", "alguien", "ellos", "ella", "usted", "ustedes", "nadie", "there", "buenas",
    "buenos", "good", "morning", "welcome", "here", "who", "what", "quien", "que", "if",
    "when", "cuando", "vos", "tu", "mañana", "manana", "tomorrow", "dale", "listo", "porfa",
    "por", "favor", "cool", "fine", "perfect", "exactly", "exacto", "sorry", "perdon",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "lunes",
    "martes", "miercoles", "jueves", "viernes", "sabado", "domingo", "january", "june",
    "enero", "junio", "julio", "july", "august", "agosto", "september", "october", "november",
    "december", "march", "april", "may", "marzo", "abril", "mayo",
}  # fmt: skip
EN_SUBJECTS = {"i": "self", "we": "we", "you": "addressed", "someone": "we",
               "somebody": "we", "everyone": "we", "y'all": "we"}  # fmt: skip
EN_WILL = {"will", "'ll", "shall"}
EN_CONTRACTED = {"i'll": "i", "we'll": "we", "you'll": "you", "he'll": "he", "she'll": "she",
                 "they'll": "they", "i'm": "i", "we're": "we", "you're": "you",
                 "he's": "he", "she's": "she", "they're": "they"}  # fmt: skip
EN_SKIP = {"probably", "also", "just", "definitely", "then", "quickly", "first", "still",
           "actually", "really", "personally", "both", "all", "try", "and",
           "certainly", "absolutely", "happily", "gladly", "later", "now", "defo"}  # fmt: skip
EN_CLOSED = {"the", "a", "an", "this", "that", "these", "those", "it", "is", "are", "was",
             "were", "i", "we", "you", "he", "she", "they", "and", "or", "but", "to", "of",
             "in", "on", "at", "for", "with", "as", "by", "thanks", "thank", "good", "great",
             "nice", "sorry", "yes", "no", "yeah", "okay", "ok", "what", "how", "why", "who",
             "when", "where", "do", "does", "did", "have", "has", "had", "can", "could",
             "would", "will", "should", "there", "here", "so", "well", "right", "sure",
             "all", "any", "my", "your", "our", "their", "his", "her", "about"}  # fmt: skip
ES_IR = {"voy": "1s", "vas": "2s", "va": "3s", "vamos": "1p", "van": "3p", "vais": "2p"}
ES_PAST_IR = {"iba", "ibas", "ibamos", "iban"}
ES_TENER = {"tengo": "1s", "tienes": "2s", "tenes": "2s", "tiene": "3s", "tenemos": "1p",
            "tienen": "3p", "teneis": "2p"}  # fmt: skip
ES_DEBER = {"debo": "1s", "debes": "2s", "debe": "3s", "debemos": "1p", "deben": "3p",
            "necesito": "1s", "necesitamos": "1p"}  # fmt: skip
ES_CAN = {"puedes", "podrias", "podes", "puede", "podria", "pueden", "podrian", "podeis"}
ES_CLITICS = {"me", "te", "se", "nos", "le", "les", "lo", "la", "los", "las", "os"}

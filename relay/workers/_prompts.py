"""The LLM backend's prompts (``_llm.py``): ``{language}`` and ``{today}`` are filled in
per call; every reply must be the JSON object the prompt describes."""

from __future__ import annotations

EXTRACT_ACTIONS = """\
You extract action items from a meeting transcript in {language}. The meeting took place \
on {today} ({weekday}). Each line of the transcript is "[segment_id] Speaker: text".

An action item is an explicit commitment or assignment: a speaker says they will do \
something ("I'll send the report", "Yo preparo el presupuesto"), or asks or tells a named \
person to do something ("Ana, can you review the contract?"). Wishes, ideas, hypotheticals, \
questions nobody took on, risks and things already done are not action items. When in \
doubt, leave it out.

For each action item give:
- "segment_id": the id in brackets of the line where it is said, copied exactly;
- "owner": the named person it is assigned to; the speaker for a first-person commitment \
("I will", "yo me encargo"); null for "we" or when nobody in particular;
- "text": the task, short, written in {language};
- "due": the due date as YYYY-MM-DD, from the meeting date and only by these rules: \
"tomorrow"/"mañana" is the next day; "today"/"hoy" is the meeting date; "this week", "next \
week", "esta semana", "la semana que viene" are 7 days later; a weekday ("Friday", "el \
viernes") is the next such day after the meeting date (7 days later on that same weekday); \
"end of the month"/"fin de mes" is the last day of the meeting's month. Otherwise null. \
Never invent a date;
- "conf": how sure you are that it is an explicit action item, from 0 to 1.

Answer with JSON only, exactly of this shape:
{{"actions": [{{"segment_id": "s12", "owner": "Ana", "text": "Review the contract", \
"due": "2026-01-16", "conf": 0.9}}]}}
and {{"actions": []}} when there are none."""

SUMMARIZE = """\
You summarize a meeting transcript in {language}. Each line of the transcript is \
"[segment_id] Speaker: text".

Write in {language}:
- "bullets": the 5 most important facts and decisions (figures, dates, who decided what), \
one short sentence each; fewer if the transcript has fewer;
- "risks": the risks, blockers and dependencies that were mentioned; [] if none;
- "topics": up to 5 topics discussed, a few words each.
Use only what the transcript says; never invent.

Answer with JSON only, exactly of this shape:
{{"bullets": ["..."], "risks": ["..."], "topics": ["..."]}}"""

MERGE_SUMMARIES = """\
You merge partial summaries of consecutive parts of one meeting in {language} into one \
summary of the whole meeting. The input is JSON, {{"partials": [{{"bullets": [...], \
"risks": [...], "topics": [...]}}, ...]}}, in the order of the meeting; the parts overlap \
a little, so the same fact may appear twice.

Write in {language}:
- "bullets": the 5 most important facts and decisions of the whole meeting, one short \
sentence each;
- "risks": the risks, blockers and dependencies, each once; [] if none;
- "topics": up to 5 topics of the whole meeting, a few words each.
Use only what the partial summaries say; never invent.

Answer with JSON only, exactly of this shape:
{{"bullets": ["..."], "risks": ["..."], "topics": ["..."]}}"""

CRM_NOTE = """\
You write a short CRM note of a meeting in {language}, for the account's records. The \
input is either the transcript, as lines "[segment_id] Speaker: text", or a JSON summary \
of it.

Write in {language}, in 3 to 6 sentences of plain text (no markdown, no segment ids): who \
took part, what was discussed and decided, and the next steps with their owners and dates \
when they were said. Use only what the input says; never invent.

Answer with JSON only, exactly of this shape:
{{"note": "..."}}"""

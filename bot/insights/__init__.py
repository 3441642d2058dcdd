"""What content editors learn from use: topics asked, feedback, unanswered questions.

Nothing here stores who asked: no sender id, and text is scrubbed of phone
numbers and e-mail addresses before it is written.
"""

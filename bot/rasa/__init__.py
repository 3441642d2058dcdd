"""The project's code that plugs into Rasa's server (not its NLU pipeline: that is `bot.nlp`).

- `stores`: Rasa's SQL tracker store and Redis lock store, named in endpoints.yml
  (`bot.rasa.stores.ConversationStore`, `bot.rasa.stores.LockStore`);
- `patches`: measured fixes to Rasa 3.6 internals, applied by `python -m bot rasa-server`.

Importing this package changes nothing in Rasa.
"""

"""Redis, one room per part: reaching the server, the directory, live calls, what goes out to the case system;
every key name in `keys`."""

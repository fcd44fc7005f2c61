print("mmed")

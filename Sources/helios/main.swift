print("helios")

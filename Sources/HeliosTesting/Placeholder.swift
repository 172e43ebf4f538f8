import HeliosLog

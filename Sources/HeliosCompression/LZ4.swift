public enum LZ4Placeholder {}

"""milvus-plugins: one shared Milvus core with LangChain and LlamaIndex adapters."""

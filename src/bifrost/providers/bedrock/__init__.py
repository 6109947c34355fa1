"""AWS Bedrock support: the Converse API, translated to and from the gateway's OpenAI chat format."""

"""The build side: corpus -> passages -> vectors -> a published index version; adding and removing documents."""

// The app's own storage account: the Flex Consumption deployment package, the Functions host's state, the step
// queue and its poison queue, and the snapshot container. It lives beside the app, in the secondary (or a third)
// region, never the primary's: during the outage it exists for, the primary region is gone.

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Geo-redundant replication (RA-GRS) so the snapshots survive the loss of this region too; LRS when false.')
param geoRedundant bool = true

@description('Blob container that holds the deployment package Flex Consumption runs from.')
param deploymentContainerName string

@description('Blob container that holds the write-once project snapshots (SNAPSHOT_CONTAINER).')
param snapshotContainerName string = 'snapshots'

@description('Blob container that holds the promotion record callers read during an outage (ROUTING_CONTAINER).')
param routingContainerName string = 'routing'

@description('Queue that carries the replication steps; the host moves undeliverable messages to <name>-poison.')
param stepQueueName string = 'replication-steps'

@description('Days a deleted or overwritten blob (and a deleted container) stays recoverable.')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 30

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: replication is the geoRedundant parameter (RA-GRS by default), which checkov cannot evaluate.
  // checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches its storage over the public endpoint; access is Entra ID only (shared keys off).
  // checkov:skip=CKV_AZURE_59: same reason: public network access is needed without a VNet; no key or anonymous access is possible.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: geoRedundant ? 'Standard_RAGRS' : 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    // Every client (the host, the app, azd and Core Tools) authenticates with Entra ID; keys and SAS are off.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Issue 7's immutability: a snapshot overwritten or deleted by mistake (or by an attacker) stays recoverable.
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource snapshotContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: snapshotContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Apart from the snapshots: prediction callers are granted Blob Data Reader on this container alone.
resource routingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: routingContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource stepQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: stepQueueName
}

resource stepPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${stepQueueName}-poison'
}

// Versioning keeps every deployment package ever published; old package versions are only cost.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-old-deployment-packages'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${deploymentContainerName}/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 30
                }
              }
            }
          }
        }
      ]
    }
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output snapshotContainerName string = snapshotContainer.name
output routingContainerName string = routingContainer.name
output stepQueueName string = stepQueue.name
